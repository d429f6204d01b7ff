"""Command line: argument parsing and the headless subcommands.

Every failure a user can cause (unknown id, missing key, unreachable server, bad URL, index in
use) ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tui import __version__
from tui.api.errors import ApiError, NotFoundError, redact
from tui.api.profiles import (
    BUILTIN_PROFILES,
    Profile,
    default_profile_name,
    resolve_profile,
    validate_base_url,
)
from tui.paths import backend_dir, index_dir
from tui.store.lock import IndexInUse
from tui.text import one_line, sanitize

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- parser


def _connection_options(suppress: bool) -> argparse.ArgumentParser:
    """The connection options, accepted before or after the subcommand.

    The copy given to subcommands uses SUPPRESS defaults, so an option given before the
    subcommand is not overwritten by the subcommand's default (an argparse pitfall).
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    conn = common.add_argument_group("connection")
    conn.add_argument(
        "--profile",
        default=default(None),
        help="fireworks, openai, local, or a saved profile "
        "(default: $RESPONSES_TUI_PROFILE, else fireworks when FIREWORKS_API_KEY is set, "
        "else local)",
    )
    conn.add_argument(
        "--base-url",
        default=default(None),
        help="any Responses API server, e.g. http://localhost:8000/v1",
    )
    conn.add_argument(
        "--api-key-env",
        default=default(None),
        metavar="VAR",
        help="environment variable holding the key",
    )
    conn.add_argument(
        "--header",
        action="append",
        default=default([]),
        metavar="'NAME: VALUE'",
        help="extra request header; ${VAR} in the value is read from the environment",
    )
    conn.add_argument(
        "--model", default=default(None), help="model for new responses (default: the profile's)"
    )
    return common


def _environment_help() -> str:
    """The variables the CLI and the app read, for `--help`: the built-in profiles' keys from
    their definitions (tui/api/profiles.py), so the list cannot drift from them."""
    rows: list[tuple[str, str]] = []
    for name, profile in BUILTIN_PROFILES.items():
        if profile.api_key_env:
            default = " (chosen by default when set)" if name == "fireworks" else ""
            rows.append((profile.api_key_env, f"the key of the {name} profile{default}"))
        for header, var in profile.optional_env_headers.items():
            rows.append((var, f"optional, sent as the {header} header ({name})"))
    rows.append(("RESPONSES_TUI_PROFILE", "the profile to use when --profile is not given"))
    rows.append(("RESPONSES_TUI_HOME", "where the index, the offline backend and config.toml live"))
    width = max(len(var) for var, _ in rows)
    lines = [f"  {var:<{width}}  {what}" for var, what in rows]
    return "environment variables:\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    top = _connection_options(suppress=False)
    common = _connection_options(suppress=True)

    parser = argparse.ArgumentParser(
        prog="responses-tui",
        usage="%(prog)s [OPTIONS] [COMMAND [ARGS ...]]",
        description=(
            "Browse, fork and prune stored Responses API conversations.\n"
            "Without a COMMAND, the interactive browser opens."
        ),
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[top],
    )
    parser.add_argument("--version", action="version", version=f"responses-tui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed a small branched example into the offline backend (first look)",
    )
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands (optional: none opens the browser)",
        prog="responses-tui",  # not the usage line above, in each command's usage
    )

    p = sub.add_parser("list", parents=[common], help="print the forest as an indented tree")
    p.add_argument(
        "--all", action="store_true", help="every server in the index, not just this one"
    )
    p.add_argument(
        "--usage",
        action="store_true",
        help="each turn's tokens and cost (where the price is known), and the total",
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "search", parents=[common], help="full-text search over every turn, newest first"
    )
    p.add_argument("words", nargs="+", metavar="WORD", help="every word must match")
    p.add_argument("--limit", type=int, default=20, help="at most this many hits (20)")
    p.add_argument(
        "--all", action="store_true", help="every server in the index, not just this one"
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="import responses and their ancestors by id, or re-import an export file",
    )
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument(
        "--file",
        type=Path,
        metavar="PATH",
        help="re-import a JSON export (path or --tree) instead of ids; no network needed",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export the path root→ID")
    p.add_argument("id", metavar="ID")
    p.add_argument("--tree", action="store_true", help="the whole conversation that contains ID")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("-o", "--output", type=Path, help="write to this file (mode 0600)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "diff", parents=[common], help="compare two answers: settings that differ, unified diff"
    )
    p.add_argument("left", metavar="ID", help="a response id (or a unique prefix of one)")
    p.add_argument("right", metavar="ID")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("delete", parents=[common], help="delete a response (permanent)")
    p.add_argument("id", metavar="ID")
    p.add_argument("--subtree", action="store_true", help="also every descendant in the index")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--local-only", action="store_true", help="forget it locally, leave the server alone"
    )
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("serve", help="serve the offline backend over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument(
        "--data", type=Path, help=f"backend storage directory (default: {backend_dir()})"
    )
    p.add_argument("--delta-delay", type=float, default=0.0, help="seconds between streamed deltas")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "send", parents=[common], help="send a message (headless) and print the reply"
    )
    p.add_argument("text", nargs="?", default=None, help="the message (omit with --approve etc.)")
    p.add_argument("--reply-to", metavar="ID", help="continue from this response (in the index)")
    p.add_argument(
        "--tools",
        metavar="NAME,...",
        help="tool presets to send (default: the tools of the response replied to; '' for none)",
    )
    p.add_argument("--no-store", action="store_true", help="ask the server not to store it")
    p.add_argument("--approve", metavar="REQUEST_ID", help="approve a pending MCP tool call")
    p.add_argument("--deny", metavar="REQUEST_ID", help="deny a pending MCP tool call")
    p.add_argument(
        "--function-output",
        metavar="CALL_ID=OUTPUT",
        help="answer a function call with its output",
    )
    p.add_argument(
        "--fan-out",
        type=int,
        metavar="N",
        help="send N times at once (2-8) as siblings: the --reply-to turn's input again, or "
        "the message as N replies to it; --model and --temperature then take comma lists",
    )
    run = p.add_argument_group(
        "run settings (default: those of the response replied to; --model too)"
    )
    run.add_argument("--instructions", metavar="TEXT", help="system instructions ('' for none)")
    run.add_argument("--temperature", metavar="T", help="0 to 2 (with --fan-out: T,T,...)")
    run.add_argument(
        "--reasoning-effort", metavar="EFFORT", help="none, minimal, low, medium, high"
    )
    run.add_argument("--max-output-tokens", metavar="N", help="at most N output tokens")
    run.add_argument(
        "--json-schema",
        metavar="FILE",
        type=Path,
        help='answer as JSON: FILE holds {"name": ..., "schema": {...}, "strict": true}',
    )
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("tools", help="list, add or remove tool presets")
    tsub = p.add_subparsers(dest="tools_command", metavar="ACTION")
    tsub.add_parser("list", help="the saved tool presets").set_defaults(func=cmd_tools_list)
    ta = tsub.add_parser("add", help="save a tool preset (validated; secrets as ${VAR})")
    ta.add_argument("name")
    kind = ta.add_mutually_exclusive_group(required=True)
    kind.add_argument("--json", dest="tool_json", metavar="JSON", help="the tool as JSON")
    kind.add_argument("--mcp", metavar="URL", help="an MCP server (streamable HTTP)")
    kind.add_argument("--sse", metavar="URL", help="an MCP server over SSE (Fireworks' form)")
    kind.add_argument("--function", metavar="NAME", help="a function tool")
    ta.add_argument("--label", help="server label (mcp, sse; optional: without one none is sent)")
    ta.add_argument(
        "--approval",
        help="never, always, or the tool names that need it (mcp: default never; "
        "sse: not sent unless given)",
    )
    ta.add_argument("--allowed", metavar="A,B", help="allowed tool names (mcp, sse)")
    ta.add_argument("--tool-header", action="append", default=[], metavar="'NAME: VALUE'")
    ta.add_argument("--description", default="", help="what the function does")
    ta.add_argument("--parameters", default='{"type": "object", "properties": {}}')
    ta.add_argument("--replace", action="store_true", help="overwrite a preset of that name")
    ta.set_defaults(func=cmd_tools_add)
    tr = tsub.add_parser("remove", help="delete a tool preset")
    tr.add_argument("name")
    tr.set_defaults(func=cmd_tools_remove)
    p.set_defaults(func=cmd_tools_list)

    p = sub.add_parser("profiles", help="list, add or remove saved profiles")
    psub = p.add_subparsers(dest="profiles_command", metavar="ACTION")
    psub.add_parser("list", help="built-in and saved profiles").set_defaults(func=cmd_profiles_list)
    pa = psub.add_parser("add", help="save a profile (the key stays in its environment variable)")
    pa.add_argument("name")
    pa.add_argument("--base-url", required=True, dest="profile_base_url")
    pa.add_argument("--api-key-env", dest="profile_key_env", metavar="VAR")
    pa.add_argument("--model", dest="profile_model", default="")
    pa.add_argument("--header", dest="profile_headers", action="append", default=[])
    pa.set_defaults(func=cmd_profiles_add)
    pr = psub.add_parser("remove", help="delete a saved profile")
    pr.add_argument("name")
    pr.set_defaults(func=cmd_profiles_remove)
    p.set_defaults(func=cmd_profiles_list)
    return parser


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    try:
        code = run_app(args) if func is None else func(args)
        sys.stdout.flush()  # a closed pipe shows up here, not as a warning at exit
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as a tool killed by SIGPIPE does.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return EXIT_PIPE
    except CliError as error:
        return _fail(str(error), error.code)
    except IndexInUse as error:
        return _fail(str(error))
    except ApiError as error:
        return _fail(str(error))
    except (ValueError, OSError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as error:  # a bug: one redacted line, never a traceback with values
        return _fail(f"unexpected {type(error).__name__}: {error}")


def _say(*values: object, file=None, end: str = "\n", flush: bool = False) -> None:
    """`print` for everything the CLI writes: what a server, a file or the index said is
    neutralised first (no escape sequence, control or bidi character reaches the terminal;
    newlines are kept)."""
    text = " ".join(str(v) for v in values)
    print(sanitize(text, multiline=True), file=file, end=end, flush=flush)


def _told(client: Any) -> Any:
    """A client that says each retry on stderr, one line each (a slow server is not silent)."""
    client.on_retry = lambda line: _say(f"responses-tui: {line}", file=sys.stderr)
    return client


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    # Last line of defence: no value of a key-like variable, whatever the message quotes.
    secrets = [v for k, v in os.environ.items() if re.search(r"(?i)key|token|secret|pass", k)]
    message = redact(message, secrets)
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    _say(f"responses-tui: error: {first_line}", file=sys.stderr)
    return code


def run_app(args: argparse.Namespace) -> int:
    """The interactive browser."""
    from tui.ui.app import ResponsesApp

    with open_index() as index:
        profile = choose_profile(args, index)
        backend = None
        if getattr(args, "demo", False):
            from tui.demo import seed_demo

            if not profile.local:
                raise CliError("--demo seeds the offline backend: use it without --profile")
            seeded = asyncio.run(seed_demo(index, profile))
            if seeded:
                _say(f"seeded {seeded} demo responses", file=sys.stderr)
        if profile.local:
            # A short pause between deltas, so the offline backend streams like a server.
            from tui.ops.connect import offline_backend

            backend = offline_backend(delta_delay=0.02)
        app = ResponsesApp(index, profile, backend=backend)
        app.run()
    return app.return_code or EXIT_OK  # 1 when the app stopped on an unexpected error


# ---------------------------------------------------------------- shared helpers


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise CliError(f"bad header {text.split(':')[0]!r}: expected 'NAME: VALUE'", EXIT_USAGE)
    return name.strip(), value.strip()


@contextlib.contextmanager
def open_index(*, reader: bool = False) -> Iterator[Any]:
    """The index, for the length of a `with`. A reader (`list`, `search`, `export`, the
    `profiles` and `tools` lists) of an index it may not write (a read-only home) reads a
    private copy instead: nothing is written where it cannot be, and nothing is repaired in
    place."""
    from tui.store.index import Index

    directory = index_dir()
    try:
        index = Index.open(directory)
    except IndexInUse:
        raise
    except OSError as error:
        if not (reader and error.errno in _READ_ONLY and directory.is_dir()):
            raise
        with tempfile.TemporaryDirectory(prefix="responses-tui-") as scratch:
            copy = Path(scratch) / "index"
            shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("index.lock"))
            _say(
                f"responses-tui: warning: {directory} cannot be written "
                f"({error.strerror or error}): reading a copy",
                file=sys.stderr,
            )
            with Index.open(copy) as index:
                _warn(index)
                yield index
        return
    with index:
        _warn(index)
        yield index


_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def _warn(index: Any) -> None:
    for warning in index.warnings:
        _say(f"responses-tui: warning: {warning}", file=sys.stderr)


def saved_profiles(index, broken: dict[str, str] | None = None) -> dict[str, Profile]:
    """The usable saved profiles (tui.session.catalog). A hand-corrupted one never breaks the
    others: it is skipped, and its name and what is wrong with it go into `broken` when given,
    otherwise into one warning line on stderr."""
    from tui.session import catalog

    found = catalog(index)
    if broken is None:
        _warn_unusable(found.unusable)
    else:
        broken.update(found.unusable)
    return found.saved


def _warn_unusable(unusable: dict[str, str]) -> None:
    from tui.session import unusable_text

    for label, reason in unusable.items():
        _say(f"responses-tui: warning: {unusable_text(label, reason)}; skipped", file=sys.stderr)


def choose_profile(args: argparse.Namespace, index=None) -> Profile:
    env = os.environ
    headers = dict(parse_header(h) for h in args.header)
    if args.base_url:
        profile = Profile(
            name="custom",
            base_url=validate_base_url(args.base_url),
            api_key_env=args.api_key_env,
            headers=headers,
            default_model=args.model or "",
        )
    else:
        unusable: dict[str, str] = {}
        custom = saved_profiles(index, unusable) if index is not None else {}
        name = args.profile or default_profile_name(env)
        if name in unusable and name not in custom:  # the one asked for: an error, not a warning
            from tui.session import unusable_text

            raise CliError(unusable_text(name, unusable[name]))
        _warn_unusable(unusable)
        profile = resolve_profile(name, env, custom)
        if args.api_key_env:
            profile = dataclasses.replace(profile, api_key_env=args.api_key_env)
        if headers:
            profile = dataclasses.replace(profile, headers={**profile.headers, **headers})
    if args.model:
        profile = dataclasses.replace(profile, default_model=args.model)
    return profile


def describe(profile: Profile, server: str) -> str:
    if profile.local:
        return "offline backend (built in, no model)"
    return f"{profile.name} ({server})"


# ---------------------------------------------------------------- list


def _fit_to_terminal() -> Callable[[str], str]:
    """For `list` and `search`: on a terminal, each line neutralised and cut to its width
    (with …), so that a long preview does not wrap over the next lines; into a pipe or a
    file, whole lines."""
    if not sys.stdout.isatty():
        return lambda line: line
    from rich.cells import cell_len, set_cell_size

    width = max(10, shutil.get_terminal_size().columns)

    def fit(line: str) -> str:
        line = sanitize(line)
        if cell_len(line) <= width:
            return line
        return set_cell_size(line, width - 1).rstrip() + "…"

    return fit


def cmd_list(args: argparse.Namespace) -> int:
    from tui.ops.connect import server_id
    from tui.ops.listing import forest_lines

    fit = _fit_to_terminal()
    with open_index(reader=True) as index:
        profile = choose_profile(args, index)
        here = server_id(profile)
        servers = sorted({n.server for n in index.nodes()}) if args.all else [here]
        if args.all and not servers:
            servers = [here]
        for n, server in enumerate(servers):
            count = len(index.nodes(server))
            title = describe(profile, server) if server == here else server
            if n:
                print()
            _say(fit(f"{title}: {count} response{'s' if count != 1 else ''}"))
            if count == 0:
                _say(
                    fit(
                        "  (none yet: import one with: responses-tui import ID; "
                        "or start a conversation in the app)"
                    )
                )
                continue
            figures = UsageColumn(index) if args.usage else None
            for line in forest_lines(index, server, figures):
                _say(fit(line))
            if figures is not None:
                _say(fit(figures.total_line(server)))
    return EXIT_OK


class UsageColumn:
    """`list --usage`: each turn's tokens and cost as one plain line, and the server's total
    (each turn's body read once)."""

    def __init__(self, index: Any) -> None:
        from tui.ops.usage_book import UsageBook

        self.index = index
        self.book = UsageBook(index)

    def __call__(self, key: Any) -> str:
        from tui import cost

        return cost.turn_text(self.book(key))

    def total_line(self, server: str) -> str:
        from tui import cost

        keys = [node.key for node in self.index.nodes(server)]
        totals = cost.total((self.book(k) for k in keys), limit=max(1, len(keys)))
        return "total: " + cost.totals_text(totals)


# ---------------------------------------------------------------- search


def cmd_search(args: argparse.Namespace) -> int:
    """The ctrl+f search, headless: one hit per line (id, field, snippet), newest first."""
    from tui.ops.connect import server_id
    from tui.ops.listing import unmark
    from tui.search import SearchIndex

    if args.limit < 1:
        raise CliError("--limit must be at least 1", EXIT_USAGE)
    query = " ".join(args.words)
    with open_index(reader=True) as index:
        profile = choose_profile(args, index)
        searcher = SearchIndex(index, None if args.all else server_id(profile))
        searcher.build()
        hits = searcher.search(query, limit=args.limit)
        fit = _fit_to_terminal()
        for hit in hits:
            where = f"{hit.key[0]}  " if args.all else ""
            _say(fit(f"{where}{hit.key[1]}  {hit.field:<6}  {unmark(hit.snippet)}"))
    if not hits:
        _say(f"no response matches {one_line(query, 80)!r}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------- import


def cmd_import(args: argparse.Namespace) -> int:
    from tui.ops.connect import make_client, server_id
    from tui.ops.importer import describe_import, import_chain

    if args.file is not None and args.ids:
        raise CliError("give response ids or --file PATH, not both", EXIT_USAGE)
    if args.file is None and not args.ids:
        raise CliError("nothing to import: give response ids or --file PATH", EXIT_USAGE)
    if args.file is not None:
        return _import_file(args)

    with open_index() as index:
        profile = choose_profile(args, index)
        server = server_id(profile)
        # A unique prefix of an indexed id is that id; anything else is asked of the server.
        ids = [index.resolve(rid, server) for rid in args.ids]

        async def run() -> int:
            failures = 0
            async with _told(make_client(profile)) as client:
                for rid in ids:
                    progress = _progress_printer(f"importing {rid}")
                    try:
                        result = await import_chain(
                            client,
                            index,
                            server=server,
                            profile=profile.name,
                            response_id=rid,
                            progress=progress,
                        )
                    except NotFoundError:
                        _clear_progress(progress)
                        _say(
                            f"responses-tui: error: unknown response id {rid!r}: "
                            f"{describe(profile, server)} does not have it",
                            file=sys.stderr,
                        )
                        failures += 1
                        continue
                    _clear_progress(progress)
                    _say(describe_import(result))
            return EXIT_ERROR if failures else EXIT_OK

        return asyncio.run(run())


def _import_file(args: argparse.Namespace) -> int:
    """Re-import an export file: no client, no key, no network."""
    import json

    from tui.ops.connect import server_id
    from tui.ops.importer import import_export_file, validate_export

    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a JSON export: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise CliError(
            f"{path} is not valid JSON (line {error.lineno} column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise CliError(f"{path} is not a usable JSON export: nested too deeply") from None
    try:
        validate_export(document)
    except ValueError as error:
        raise CliError(f"{path}: {error}") from None

    with open_index() as index:
        profile = choose_profile(args, index)
        # The document names its server; an explicit --profile or --base-url overrides it.
        explicit = bool(getattr(args, "profile", None) or getattr(args, "base_url", None))
        result = import_export_file(
            index,
            document,
            server=server_id(profile) if explicit else None,
            profile=profile.name,
        )
    total = len(result.added) + len(result.updated)
    _say(
        f"imported {total} response{'s' if total != 1 else ''} from {path} "
        f"into {result.server} ({len(result.updated)} updated)"
    )
    return EXIT_OK


def _progress_printer(label: str) -> Callable[[int, str], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, current: str) -> None:
        line = sanitize(f"{label}: {done} fetched ({current})")
        print(f"\r{line}\x1b[K", end="", file=sys.stderr, flush=True)

    return show


def _clear_progress(progress) -> None:
    if progress is not None:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- export


def find_server(index, profile: Profile, response_id: str) -> str:
    """The server that holds `response_id`: the profile's, else the only one that has it."""
    from tui.ops.connect import server_id

    here = server_id(profile)
    if index.get(here, response_id) is not None:
        return here
    elsewhere = sorted({n.server for n in index.find(response_id)})
    if len(elsewhere) == 1:
        return elsewhere[0]
    if len(elsewhere) > 1:
        raise CliError(
            f"response id {response_id!r} exists on several servers ({', '.join(elsewhere)}): "
            "choose one with --profile or --base-url"
        )
    raise CliError(
        f"unknown response id {response_id!r}: not in the index "
        f"(import it first: responses-tui import {response_id})"
    )


def cmd_export(args: argparse.Namespace) -> int:
    from tui.ops.connect import server_id
    from tui.ops.export import render_export
    from tui.store.atomic import write_private_file

    with open_index(reader=True) as index:
        profile = choose_profile(args, index)
        rid = index.resolve(args.id, server_id(profile))  # a unique prefix will do
        server = find_server(index, profile, rid)
        scope = "tree" if args.tree else "path"
        text = render_export(index, server, rid, scope=scope, fmt=args.format)
    # JSON is inert already (the same document); Markdown on a terminal is neutralised like
    # everything else the CLI prints.
    if args.output:
        write_private_file(args.output, text.encode("utf-8"))
        _say(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if args.format == "json" else sanitize(text, multiline=True))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """The settings that differ between two turns, then a unified diff of their answers."""
    from tui.compare import unified
    from tui.ops.connect import server_id

    with open_index(reader=True) as index:
        profile = choose_profile(args, index)
        keys = []
        for text in (args.left, args.right):
            rid = index.resolve(text, server_id(profile))  # a unique prefix will do
            keys.append((find_server(index, profile, rid), rid))
        lines = unified(index, keys[0], keys[1])
    for line in lines:
        _say(line)  # safe already (tui.compare); _say neutralises again
    return EXIT_OK


# ---------------------------------------------------------------- delete


def cmd_delete(args: argparse.Namespace) -> int:
    from tui.ops.connect import make_client, server_id
    from tui.ops.deleter import delete_responses, subtree_ids

    with open_index() as index:
        profile = choose_profile(args, index)
        here = server_id(profile)
        args.id = index.resolve(args.id, here)  # a unique prefix will do
        server = find_server(index, profile, args.id) if args.local_only else here
        if not args.local_only and index.get(here, args.id) is None:
            elsewhere = sorted({n.server for n in index.find(args.id)})
            if elsewhere:
                raise CliError(
                    f"{args.id} belongs to {', '.join(elsewhere)}, not {here}: "
                    "choose its server with --profile or --base-url"
                )
            raise CliError(
                f"unknown response id {args.id!r}: not in the index "
                f"(import it first: responses-tui import {args.id})"
            )
        ids = subtree_ids(index, server, args.id) if args.subtree else [args.id]
        where = "in the local index only" if args.local_only else f"on {describe(profile, server)}"
        question = (
            f"Delete {len(ids)} response{'s' if len(ids) != 1 else ''} {where}"
            + (
                ""
                if args.local_only
                else f" permanently, and forget {'it' if len(ids) == 1 else 'them'} locally"
            )
            + "?"
        )
        if not args.yes and not _confirm(question):
            _say("nothing deleted")
            return EXIT_OK

        async def run():
            if args.local_only:
                return await delete_responses(None, index, server=server, ids=ids, local_only=True)
            async with _told(make_client(profile)) as client:
                return await delete_responses(client, index, server=server, ids=ids)

        report = asyncio.run(run())
    if report.unsupported and not report.deleted:
        raise CliError(f"{report.unsupported}; nothing was deleted and the index is unchanged")
    gone = len(report.deleted)
    notes = []
    if report.already_gone:
        n = len(report.already_gone)
        notes.append(f"{n} {'was' if n == 1 else 'were'} already gone")
    if report.not_stored:
        n = len(report.not_stored)
        notes.append(f"{n} never stored on the server, forgotten locally")
    note = f" ({'; '.join(notes)})" if notes else ""
    verb = "forgot" if args.local_only else "deleted"
    _say(f"{verb} {gone} of {len(ids)}{note}")
    if report.tombstoned:
        _say(
            f"kept {len(report.tombstoned)} in the index marked deleted: later turns still "
            "hang from them"
        )
    for rid, reason in report.failed.items():
        _say(
            f"responses-tui: error: {rid} not deleted: {reason} (kept in the index)",
            file=sys.stderr,
        )
    return EXIT_ERROR if report.failed else EXIT_OK


def _confirm(question: str) -> bool:
    """True when the user answers yes. Without a terminal to ask on, a usage error."""
    if not sys.stdin.isatty():
        raise CliError(f"{question} Refusing without confirmation: pass --yes", EXIT_USAGE)
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


# ---------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    from tui.local.http import serve
    from tui.ops.connect import offline_backend

    if not 0 <= args.port <= 65535:
        raise CliError(f"bad port {args.port}: use 1 to 65535 (0 picks a free one)", EXIT_USAGE)
    backend = offline_backend(args.data, delta_delay=args.delta_delay)
    stop = threading.Event()

    def ready(port: int) -> None:
        _say(
            f"Offline Responses API backend (deterministic replies, no model) on "
            f"http://{args.host}:{port}/v1 — Ctrl+C to stop",
            flush=True,
        )

    try:
        serve(backend, host=args.host, port=args.port, ready=ready, stop=stop)
    except KeyboardInterrupt:
        stop.set()
    return EXIT_OK


# ---------------------------------------------------------------- profiles


def cmd_profiles_list(args: argparse.Namespace) -> int:
    env = os.environ
    with open_index(reader=True) as index:
        custom = saved_profiles(index)
    default = default_profile_name(env)
    for name, profile in {**BUILTIN_PROFILES, **custom}.items():
        mark = "*" if name == default else " "
        if profile.local:
            key = "no key"
        elif profile.api_key_env:
            state = "set" if env.get(profile.api_key_env) else "unset"
            key = f"key from ${profile.api_key_env} ({state})"
        else:
            key = "no key"
        origin = "saved" if name in custom else "built in"
        model = profile.default_model or "-"
        _say(f"{mark} {name:<12} {profile.base_url}  {key}  model {model}  [{origin}]")
    return EXIT_OK


def cmd_profiles_add(args: argparse.Namespace) -> int:
    from tui.api.profiles import profile_to_dict, validate_profile_name, validate_variable_name

    try:
        name = validate_profile_name(args.name)
        base_url = validate_base_url(args.profile_base_url)
        key_env = validate_variable_name(args.profile_key_env)
    except ValueError as error:
        raise CliError(f"profiles add: {error}", EXIT_USAGE) from None
    if name in BUILTIN_PROFILES:
        raise CliError(f"{name!r} is a built-in profile; choose another name", EXIT_USAGE)
    profile = Profile(
        name=name,
        base_url=base_url,
        api_key_env=key_env,
        headers=dict(parse_header(h) for h in args.profile_headers),
        default_model=args.profile_model,
    )
    with open_index() as index:
        index.save_profile(profile_to_dict(profile))
    _say(f"saved profile {args.name!r}")
    return EXIT_OK


def cmd_profiles_remove(args: argparse.Namespace) -> int:
    with open_index() as index:
        if not index.remove_profile(args.name):
            raise CliError(f"no saved profile named {args.name!r}")
    _say(f"removed profile {args.name!r}")
    return EXIT_OK


# ---------------------------------------------------------------- tools


def cmd_tools_list(args: argparse.Namespace) -> int:
    from tui.tools import Preset, describe_tool

    with open_index(reader=True) as index:
        presets = sorted((Preset.from_doc(d) for d in index.presets()), key=lambda p: p.name)
    if not presets:
        _say("no tool presets yet: add one with `responses-tui tools add NAME --mcp URL`")
    for preset in presets:
        _say(f"{preset.name:<20} {describe_tool(preset.tool)}")
    return EXIT_OK


def _tool_from_args(args: argparse.Namespace) -> dict:
    import json

    from tui.tools import approval_value, bounded_json, parse_tool_json, split_list

    if args.tool_json is not None:
        tool, error = parse_tool_json(args.tool_json)
        if error or tool is None:
            raise CliError(f"tools add: {error}", EXIT_USAGE)
        return tool
    headers = dict(parse_header(h) for h in args.tool_header)
    if args.mcp or args.sse:
        # Only what was given: no --label, no server_label (Fireworks' examples have none).
        tool: dict = {"type": "mcp" if args.mcp else "sse", "server_url": args.mcp or args.sse}
        if args.label:
            tool["server_label"] = args.label
        if headers:
            tool["headers"] = headers
        if args.allowed:
            tool["allowed_tools"] = split_list(args.allowed)
        approval = args.approval if args.approval is not None or args.sse else "never"
        if approval in ("never", "always"):
            tool["require_approval"] = approval
        elif approval is not None:
            tool["require_approval"] = approval_value("per tool", split_list(approval))
        return tool
    try:
        parameters = bounded_json(args.parameters)
    except json.JSONDecodeError as error:
        raise CliError(f"tools add: parameters: invalid JSON ({error.msg})", EXIT_USAGE) from None
    except ValueError as error:
        raise CliError(f"tools add: parameters: {error}", EXIT_USAGE) from None
    tool = {"type": "function", "name": args.function, "parameters": parameters}
    if args.description:
        tool["description"] = args.description
    return tool


def cmd_tools_add(args: argparse.Namespace) -> int:
    from tui.tools import Preset, validate_preset

    tool = _tool_from_args(args)
    with open_index() as index:
        taken = set() if args.replace else {d.get("name") for d in index.presets()}
        result = validate_preset(args.name, tool, taken)
        if not result.ok or result.tool is None:
            raise CliError(f"tools add: {result.first()}", EXIT_USAGE)
        index.save_preset(Preset(args.name.strip(), result.tool).to_doc())
    _say(f"saved tool preset {args.name.strip()!r}")
    return EXIT_OK


def cmd_tools_remove(args: argparse.Namespace) -> int:
    with open_index() as index:
        if not index.remove_preset(args.name):
            raise CliError(f"no tool preset named {args.name!r}")
    _say(f"removed tool preset {args.name!r}")
    return EXIT_OK


# ---------------------------------------------------------------- send


def _preset_tools(index, names: str) -> list[dict]:
    from tui.tools import Preset, split_list

    wanted = split_list(names.replace(",", " ")) if names else []
    presets = {d.get("name"): Preset.from_doc(d) for d in index.presets()}
    unknown = [n for n in wanted if n not in presets]
    if unknown:
        known = ", ".join(sorted(presets)) or "none saved"
        raise CliError(f"unknown tool preset {unknown[0]!r} (known: {known})", EXIT_USAGE)
    return [presets[n].tool for n in wanted]


# The send option of each run setting, for its errors.
_RUN_FLAGS = {
    "instructions": "--instructions",
    "temperature": "--temperature",
    "reasoning": "--reasoning-effort",
    "max_output_tokens": "--max-output-tokens",
    "text": "--json-schema",
}


def _run_overrides(args: argparse.Namespace) -> dict:
    """The run settings `send` was given (tui.run_settings checks them): one usage error
    naming the option when one is wrong."""
    from tui import run_settings

    out: dict = {}
    try:
        if args.instructions is not None:
            out["instructions"] = args.instructions if args.instructions.strip() else None
        if args.temperature is not None:
            out["temperature"] = run_settings.check_temperature(args.temperature)
        if args.reasoning_effort is not None:
            out["reasoning"] = run_settings.check_reasoning(args.reasoning_effort.strip(), None)
        if args.max_output_tokens is not None:
            out["max_output_tokens"] = run_settings.check_max_output_tokens(args.max_output_tokens)
        if args.json_schema is not None:
            try:
                with args.json_schema.open(encoding="utf-8", errors="replace") as file:
                    text = file.read(run_settings.MAX_SCHEMA_CHARS + 1)
            except OSError as error:
                raise CliError(
                    f"--json-schema: cannot read {args.json_schema} "
                    f"({error.strerror or type(error).__name__})",
                    EXIT_USAGE,
                ) from None
            out["text"] = {"format": run_settings.check_schema(text)}
    except run_settings.SettingError as error:
        raise CliError(f"{_RUN_FLAGS[error.field]}: {error.why}", EXIT_USAGE) from None
    return out


def cmd_send(args: argparse.Namespace) -> int:
    from tui import run_settings
    from tui.api import items
    from tui.api.events import TextDelta
    from tui.ops.connect import make_client, server_id
    from tui.ops.conversation import (
        CannotSend,
        approval_items,
        failure_message,
        function_output_items,
        plan_followup,
        plan_turn,
        send_turn,
    )
    from tui.text import sanitize
    from tui.tools import Preset, tool_names

    if args.fan_out is not None:
        return cmd_send_fanout(args)
    followups = [a for a in (args.approve, args.deny, args.function_output) if a]
    if len(followups) > 1:
        raise CliError("give one of --approve, --deny, --function-output", EXIT_USAGE)
    if followups and not args.reply_to:
        raise CliError("--approve, --deny and --function-output need --reply-to ID", EXIT_USAGE)
    if not followups and not (args.text or "").strip():
        raise CliError("nothing to send: give the message text", EXIT_USAGE)
    overrides = _run_overrides(args)

    with open_index() as index:
        profile = choose_profile(args, index)
        server = server_id(profile)
        if args.reply_to:
            args.reply_to = index.resolve(args.reply_to, server)  # a unique prefix will do
        if args.reply_to and index.get(server, args.reply_to) is None:
            raise CliError(
                f"unknown response id {args.reply_to!r}: not in the index "
                f"(import it first: responses-tui import {args.reply_to})"
            )
        tools = _preset_tools(index, args.tools) if args.tools is not None else None
        default_model = profile.default_model or "offline-echo"
        try:
            if followups:
                if args.function_output:
                    call_id, sep, output = args.function_output.partition("=")
                    if not sep or not call_id.strip():
                        raise CliError("--function-output wants CALL_ID=OUTPUT", EXIT_USAGE)
                    extra = function_output_items(call_id.strip(), output)
                    kind = "function output"
                else:
                    extra = approval_items(args.approve or args.deny, bool(args.approve))
                    kind = "approval"
                plan = plan_followup(
                    index, server, args.reply_to, extra, default_model=default_model, kind=kind
                )
                if tools is not None:
                    plan.body["tools"] = tools
                run_settings.write(plan.body, overrides)
                if args.model:
                    plan.body["model"] = args.model
            else:
                plan = plan_turn(
                    index,
                    server,
                    text=args.text,
                    parent=args.reply_to,
                    default_model=default_model,
                    model=args.model,
                    store=not args.no_store,
                    tools=tools,
                    overrides=overrides,
                )
        except CannotSend as error:
            raise CliError(str(error), EXIT_USAGE) from None

        streamed = False

        def show(event, _acc) -> None:
            nonlocal streamed
            if isinstance(event, TextDelta):
                streamed = True
                sys.stdout.write(sanitize(event.delta, multiline=True))
                sys.stdout.flush()

        async def run():
            async with _told(make_client(profile)) as client:
                return await send_turn(
                    client, index, plan, server=server, profile=profile.name, on_event=show
                )

        if plan.replayed:
            turns = f"{plan.replayed} turn{'s' if plan.replayed != 1 else ''}"
            _say(
                f"replaying {turns} as input: the server cannot continue {plan.parent}",
                file=sys.stderr,
            )
        result = asyncio.run(run())
        answer = ""
        if not streamed and result.response:
            # The server answered the streamed request with plain JSON: no deltas came.
            answer = sanitize(items.response_text(result.response), multiline=True)
            sys.stdout.write(answer)
        if streamed or answer:
            print()
        if result.summary is not None:
            labels = list(result.summary.tool_labels)
            sent = plan.body.get("tools")
            if isinstance(sent, list) and len(sent) == len(labels):  # by preset name
                labels = tool_names(sent, [Preset.from_doc(d) for d in index.presets()])
            tools_note = ", ".join(labels) or "none"
            _say(
                f"{result.summary.id} · {sanitize(result.summary.model)} · tools: {tools_note}"
                + (f" · {result.summary.status}" if str(result.summary.status) != "stored" else ""),
                file=sys.stderr,
            )
        response = result.response or {}
        rid = response.get("id", "?")
        for item in response.get("output") or []:
            kind = items.item_type(item)
            if kind == "mcp_call":
                call = items.normalize_mcp_call(item)
                _say(
                    f"tool call {sanitize(call['server_label'])}.{sanitize(call['name'])}: "
                    f"{sanitize(call['error'] or call['output'] or '')[:200]}",
                    file=sys.stderr,
                )
            elif kind == "mcp_approval_request":
                _say(
                    f"approval requested: {sanitize(item.get('server_label', ''))}."
                    f"{sanitize(item.get('name', ''))}({sanitize(item.get('arguments', ''))}); "
                    f"answer with: responses-tui send --reply-to {rid} --approve {item.get('id')}"
                    f" (or --deny {item.get('id')})",
                    file=sys.stderr,
                )
            elif kind == "function_call":
                _say(
                    f"function call {sanitize(item.get('name', ''))}"
                    f"({sanitize(item.get('arguments', ''))}); answer with: responses-tui send "
                    f"--reply-to {rid} --function-output {item.get('call_id')}=OUTPUT",
                    file=sys.stderr,
                )
        if result.error is not None:
            raise CliError(failure_message(plan, result.error))
    return EXIT_OK


def cmd_send_fanout(args: argparse.Namespace) -> int:
    """`send --reply-to ID --fan-out N`: N siblings at once (tui/ops/fanout.py), one line per
    run in run order, with the id it created or why it failed; exit 1 if any failed."""
    from tui.ops.connect import make_client, server_id
    from tui.ops.conversation import CannotSend
    from tui.ops.fanout import (
        CONCURRENCY,
        own_settings,
        parse_runs,
        reply_plans,
        run_fanout,
        sibling_plans,
        spread,
        validate_runs,
    )

    others = [args.approve, args.deny, args.function_output, args.tools, args.no_store or None]
    if any(other is not None for other in others):
        raise CliError(
            "--fan-out goes with --reply-to ID and, if you like, a message: not with --approve, "
            "--deny, --function-output, --tools or --no-store",
            EXIT_USAGE,
        )
    if not args.reply_to:
        raise CliError("--fan-out needs --reply-to ID (the turn to fan out from)", EXIT_USAGE)
    try:
        count = parse_runs(args.fan_out)
    except ValueError as error:
        raise CliError(f"--fan-out: {error}", EXIT_USAGE) from None
    models, args.model = args.model, None  # a list here, not the profile's default model
    with open_index() as index:
        profile = choose_profile(args, index)
        server = server_id(profile)
        node = index.resolve(args.reply_to, server)  # a unique prefix will do
        if index.get(server, node) is None:
            raise CliError(
                f"unknown response id {node!r}: not in the index "
                f"(import it first: responses-tui import {node})"
            )
        default_model = profile.default_model or "offline-echo"
        text = args.text
        own = own_settings(index, server, node, default_model=default_model)
        own_temperature = "" if own.temperature is None else f"{own.temperature:g}"
        try:
            model_list = spread(_commas(models) if models else [own.model], count, "--model")
            temps = _commas(args.temperature) if args.temperature is not None else [own_temperature]
            temps = spread(temps, count, "--temperature")
        except ValueError as error:
            raise CliError(str(error), EXIT_USAGE) from None
        runs, problem = validate_runs(list(zip(model_list, temps, strict=True)))
        if problem:
            raise CliError(f"cannot send: {problem}", EXIT_USAGE)
        try:
            if text is None:
                plans = sibling_plans(index, server, node, runs, default_model=default_model)
            else:
                plans = reply_plans(index, server, node, text, runs, default_model=default_model)
        except CannotSend as error:
            raise CliError(str(error), EXIT_USAGE) from None

        async def run():
            async with _told(make_client(profile)) as client:
                return await run_fanout(client, index, plans, server=server, profile=profile.name)

        what = "its input again" if text is None else "the message as replies to it"
        _say(
            f"fanning out from {node}: {count} runs of {what}, at most {CONCURRENCY} at a time",
            file=sys.stderr,
        )
        if plans[0].replayed:
            turns = f"{plans[0].replayed} turn{'s' if plans[0].replayed != 1 else ''}"
            _say(f"replaying {turns} as input: the server cannot continue it", file=sys.stderr)
        results = asyncio.run(run())
        for outcome in results:
            _say(outcome.line())
        failed = [outcome.run for outcome in results if not outcome.ok]
        if failed:
            raise CliError(f"{len(failed)} of {count} runs failed (run {failed[0]} first)")
    return EXIT_OK


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]
