"""The SSE decoder and encoder on their own: fields, line ends, chunk boundaries, the size cap."""

from __future__ import annotations

import json

import pytest

from tui.api.sse import MAX_EVENT_CHARS, SSEDecoder, SSEEventTooLarge, SSEMessage, encode_sse


def decode(*chunks: bytes, limit: int = MAX_EVENT_CHARS) -> list[SSEMessage]:
    decoder = SSEDecoder(max_event_chars=limit)
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out + decoder.flush()


def every_cut(stream: bytes) -> list[list[bytes]]:
    """The stream whole, cut in two at every byte, and fed byte by byte."""
    cuts = [[stream]]
    cuts += [[stream[:n], stream[n:]] for n in range(1, len(stream))]
    cuts.append([stream[n : n + 1] for n in range(len(stream))])
    return cuts


# ------------------------------------------------------------------ fields


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"data: x\n\n", [SSEMessage("message", "x")]),
        (b"event: ping\ndata: {}\n\n", [SSEMessage("ping", "{}")]),
        (b'data: {"a":"b:c"}\n\n', [SSEMessage("message", '{"a":"b:c"}')]),
        (b"data:x\n\n", [SSEMessage("message", "x")]),
        (b"data:  x\n\n", [SSEMessage("message", " x")]),
        (b"data: one\ndata: two\ndata:\n\n", [SSEMessage("message", "one\ntwo\n")]),
        # a field name alone is the field with an empty value
        (b"data\n\n", [SSEMessage("message", "")]),
        (b"event: e\nevent\ndata: x\n\n", [SSEMessage("message", "x")]),
        # comments and unknown fields are ignored
        (b": keepalive\n\n: more\ndata: x\n\n", [SSEMessage("message", "x")]),
        (b"retry: 3000\nfoo: bar\ndata: x\n\n", [SSEMessage("message", "x")]),
        # field names are case-sensitive
        (b"DATA: x\nEvent: e\n\n", []),
        (b"Data: x\ndata: y\n\n", [SSEMessage("message", "y")]),
    ],
)
def test_fields_are_read_to_the_letter_of_the_spec(stream, expected):
    assert decode(stream) == expected


def test_an_event_name_lasts_only_for_its_own_event():
    stream = b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"
    assert decode(stream) == [
        SSEMessage("a", "1"),
        SSEMessage("message", "2"),
        SSEMessage("message", "3"),  # a blank line with no data still forgets the name
    ]


def test_a_blank_line_with_no_data_dispatches_nothing():
    assert decode(b"\n\n\nevent: e\n\n: c\n\n") == []


def test_the_last_event_id_is_kept_for_the_events_after_it():
    stream = b"data: a\n\nid: 7\ndata: b\n\ndata: c\n\nid\ndata: d\n\n"
    assert decode(stream) == [
        SSEMessage("message", "a", None),
        SSEMessage("message", "b", "7"),
        SSEMessage("message", "c", "7"),
        SSEMessage("message", "d", ""),
    ]


def test_an_id_with_a_nul_is_ignored_and_other_fields_do_not_set_it():
    stream = b"id: 1\ndata: a\n\nid: 2\x003\nretry: 9\nevent: x\ndata: b\n\n"
    assert decode(stream) == [SSEMessage("message", "a", "1"), SSEMessage("x", "b", "1")]


# ------------------------------------------------------------------ line ends


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_each_line_end_ends_a_line(end):
    stream = end.join([b"event: e", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    for chunks in every_cut(stream):
        assert decode(*chunks) == [SSEMessage("e", "a\nb"), SSEMessage("message", "c")], chunks


def test_mixed_line_ends_in_one_stream():
    stream = b"data: a\rdata: b\r\n\ndata: c\n\r\n"
    for chunks in every_cut(stream):
        assert decode(*chunks) == [SSEMessage("message", "a\nb"), SSEMessage("message", "c")]


def test_a_cr_then_lf_in_the_next_chunk_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []  # not the blank line that would end the event
    assert decoder.feed(b"\n") == [SSEMessage("message", "x")]


def test_a_lf_after_a_lf_in_the_next_chunk_is_a_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"\n") == [SSEMessage("message", "x")]


def test_a_cr_inside_a_chunk_does_not_swallow_the_lf_starting_the_next():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\rdata: b\n") == []
    assert decoder.feed(b"\ndata: c\n\n") == [
        SSEMessage("message", "a\nb"),
        SSEMessage("message", "c"),
    ]


def test_only_the_first_lf_after_a_cut_crlf_is_skipped():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n\n") == [SSEMessage("message", "x")]
    assert decoder.feed(b"data: y\r") == []
    assert decoder.feed(b"\nxdata: z\n\n") == [SSEMessage("message", "y")]


def test_a_cr_pending_only_skips_an_lf_not_other_text():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"data: y\n\n") == [SSEMessage("message", "x\ny")]


def test_unicode_line_separators_are_data_not_line_ends():
    text = "a\u2028b\u0085c\u2029d"
    assert decode(f"data: {text}\n\n".encode()) == [SSEMessage("message", text)]


def test_utf8_cut_between_chunks_is_reassembled():
    stream = "data: café ✓ 𝄞\n\n".encode()
    for chunks in every_cut(stream):
        assert decode(*chunks) == [SSEMessage("message", "café ✓ 𝄞")]


def test_invalid_utf8_becomes_replacement_characters():
    assert decode(b"data: a\xffb\n\n") == [SSEMessage("message", "a\ufffdb")]


# ------------------------------------------------------------------ end of stream


def test_flush_dispatches_a_complete_but_unterminated_event():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\ndata: x\n") == []
    assert decoder.flush() == [SSEMessage("e", "x")]


def test_flush_reads_an_unfinished_last_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\ndata: b") == []
    assert decoder.flush() == [SSEMessage("message", "a\nb")]


def test_flush_ends_a_cut_utf8_sequence_with_a_replacement_character():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: caf\xc3") == []
    assert decoder.flush() == [SSEMessage("message", "caf\ufffd")]


def test_flush_of_nothing_or_of_an_event_without_data_is_empty():
    assert SSEDecoder().flush() == []
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\n: comment") == []
    assert decoder.flush() == []


def test_an_empty_chunk_changes_nothing():
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == [SSEMessage("message", "x")]


# ------------------------------------------------------------------ the size cap


def test_the_default_cap_is_32_mb():
    assert MAX_EVENT_CHARS == 32 * 1024 * 1024
    assert SSEDecoder().max_event_chars == MAX_EVENT_CHARS


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (32 * 1024 * 1024, "32 MB"),
        (1024 * 1024, "1 MB"),
        (3 * 1024 * 1024 // 2, "1.5 MB"),
        (1024 * 1024 - 1, "1,048,575 bytes"),
        (10, "10 bytes"),
    ],
)
def test_the_too_large_error_names_the_cap(limit, text):
    error = SSEEventTooLarge(limit)
    assert str(error) == f"the stream sent an event larger than {text}"
    assert error.limit == limit
    assert isinstance(error, ValueError)


def test_the_decoder_raises_with_its_own_cap():
    with pytest.raises(SSEEventTooLarge) as info:
        decode(b"data: 0123456789A\n\n", limit=10)
    assert info.value.limit == 10
    assert str(info.value) == "the stream sent an event larger than 10 bytes"


# Each data line counts its value and one for the LF that joins it; the cap is inclusive.
@pytest.mark.parametrize(
    ("lines", "limit", "fits"),
    [
        ([b"123456789"], 10, True),
        ([b"1234567890"], 10, False),
        ([b"1234", b"1234"], 10, True),
        ([b"1234", b"1234"], 9, False),
        ([b"abc", b"abc"], 8, True),
        ([b"abc", b"abc", b"abc"], 11, False),
        ([b"abc", b"abc", b"abc"], 12, True),
    ],
)
def test_the_cap_counts_every_data_line_of_one_event(lines, limit, fits):
    stream = b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    expected = [SSEMessage("message", "\n".join(line.decode() for line in lines))]
    if fits:
        assert decode(stream, limit=limit) == expected
    else:
        with pytest.raises(SSEEventTooLarge):
            decode(stream, limit=limit)


def test_the_cap_is_per_event_not_per_stream():
    one = b"data: 123456789\n\n"
    assert decode(one * 3, limit=10) == [SSEMessage("message", "123456789")] * 3
    assert decode(one, one, one, limit=10) == [SSEMessage("message", "123456789")] * 3


def test_a_line_being_read_may_reach_the_cap_but_not_pass_it():
    decoder = SSEDecoder(max_event_chars=10)
    assert decoder.feed(b"0123456789") == []  # an unfinished line of exactly 10
    assert decoder.feed(b"\n") == []
    with pytest.raises(SSEEventTooLarge):
        SSEDecoder(max_event_chars=10).feed(b"0123456789A")


def test_a_line_cut_into_many_chunks_is_capped_as_a_whole():
    decoder = SSEDecoder(max_event_chars=10)
    assert decoder.feed(b"01234") == []
    assert decoder.feed(b"56789") == []
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b"X")


def test_a_line_read_in_pieces_is_forgotten_once_it_ends():
    decoder = SSEDecoder(max_event_chars=10)
    assert decoder.feed(b"data: ") == []
    assert decoder.feed(b"ab\n") == []
    assert decoder.feed(b"\n") == [SSEMessage("message", "ab")]
    assert decoder.feed(b"0123456789") == []  # the next line may again be 10 long
    assert decoder.feed(b"\n: c\n") == []


def test_the_cap_counts_the_data_read_and_the_line_being_read_together():
    decoder = SSEDecoder(max_event_chars=10)
    assert decoder.feed(b"data: abcd\n") == []  # 5 of 10
    assert decoder.feed(b"data:") == []  # 10 of 10
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b"x")


def test_the_count_starts_again_after_each_event():
    decoder = SSEDecoder(max_event_chars=10)
    assert decoder.feed(b"data: 123456789\n\n") == [SSEMessage("message", "123456789")]
    assert decoder.feed(b"data: 123456789\n\n") == [SSEMessage("message", "123456789")]
    assert decoder.feed(b"data: ab") == []
    assert decoder.feed(b"cd\n\n") == [SSEMessage("message", "abcd")]


# ------------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    ("data", "event", "wire"),
    [
        ({"a": 1, "b": [1, 2]}, None, b'data: {"a":1,"b":[1,2]}\n\n'),
        ({"t": "x"}, "response.created", b'event: response.created\ndata: {"t":"x"}\n\n'),
        ("plain", "", b"data: plain\n\n"),
        ("one\ntwo", "e", b"event: e\ndata: one\ndata: two\n\n"),
        ("", None, b"data: \n\n"),
        ({"s": "é"}, None, b'data: {"s":"\\u00e9"}\n\n'),
        ("é", None, "data: é\n\n".encode()),
    ],
)
def test_encode_sse_writes_one_message(data, event, wire):
    assert encode_sse(data, event) == wire


@pytest.mark.parametrize(
    ("data", "event"),
    [({"type": "x", "n": [1, {"a": None}]}, "x"), ("a\nb\n", None), ("multi:colon", "e")],
)
def test_what_encode_sse_writes_decodes_back(data, event):
    (message,) = decode(encode_sse(data, event))
    assert message.event == (event or "message")
    assert message.data == (
        data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    )
