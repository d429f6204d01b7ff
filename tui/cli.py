"""Command line: argument parsing and the headless subcommands.

Every failure a user can cause (unknown id, missing key, unreachable server, bad URL, index in
use) ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from tui import __version__
from tui.api.errors import ApiError, NotFoundError
from tui.api.profiles import (
    BUILTIN_PROFILES,
    Profile,
    default_profile_name,
    resolve_profile,
    validate_base_url,
)
from tui.paths import backend_dir, index_dir
from tui.store.lock import IndexInUse

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


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


def build_parser() -> argparse.ArgumentParser:
    top = _connection_options(suppress=False)
    common = _connection_options(suppress=True)

    parser = argparse.ArgumentParser(
        prog="responses-tui",
        description="Browse, fork and prune stored Responses API conversations.",
        parents=[top],
    )
    parser.add_argument("--version", action="version", version=f"responses-tui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed a small branched example into the offline backend (first look)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", parents=[common], help="print the forest as an indented tree")
    p.add_argument(
        "--all", action="store_true", help="every server in the index, not just this one"
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "import", parents=[common], help="import responses and their ancestors by id"
    )
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export the path root→ID")
    p.add_argument("id", metavar="ID")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("-o", "--output", type=Path, help="write to this file (mode 0600)")
    p.set_defaults(func=cmd_export)

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
        if func is None:
            return run_app(args)
        return func(args)
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


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"responses-tui: error: {first_line}", file=sys.stderr)
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
                print(f"seeded {seeded} demo responses", file=sys.stderr)
        if profile.local:
            # A short pause between deltas, so the offline backend streams like a server.
            from tui.ops.connect import offline_backend

            backend = offline_backend(delta_delay=0.02)
        app = ResponsesApp(index, profile, backend=backend)
        app.run()
    return EXIT_OK


# ---------------------------------------------------------------- shared helpers


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise CliError(f"bad header {text.split(':')[0]!r}: expected 'NAME: VALUE'", EXIT_USAGE)
    return name.strip(), value.strip()


def open_index():
    from tui.store.index import Index

    index = Index.open(index_dir())
    for warning in index.warnings:
        print(f"responses-tui: warning: {warning}", file=sys.stderr)
    return index


def saved_profiles(index) -> dict[str, Profile]:
    from tui.api.profiles import profile_from_dict

    return {p["name"]: profile_from_dict(p) for p in index.profiles()}


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
        custom = saved_profiles(index) if index is not None else {}
        name = args.profile or default_profile_name(env)
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


def cmd_list(args: argparse.Namespace) -> int:
    from tui.ops.connect import server_id
    from tui.ops.listing import forest_lines

    with open_index() as index:
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
            print(f"# {title}: {count} response{'s' if count != 1 else ''}")
            if count == 0:
                print(
                    "  (none yet: import one with `responses-tui import ID`, "
                    "or start a conversation in the app)"
                )
                continue
            for line in forest_lines(index, server):
                print(line)
    return EXIT_OK


# ---------------------------------------------------------------- import


def cmd_import(args: argparse.Namespace) -> int:
    from tui.ops.connect import make_client, server_id
    from tui.ops.importer import import_chain

    with open_index() as index:
        profile = choose_profile(args, index)
        server = server_id(profile)

        async def run() -> int:
            failures = 0
            async with make_client(profile) as client:
                for rid in args.ids:
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
                        print(
                            f"responses-tui: error: unknown response id {rid!r}: "
                            f"{describe(profile, server)} does not have it",
                            file=sys.stderr,
                        )
                        failures += 1
                        continue
                    _clear_progress(progress)
                    print(_import_summary(result))
            return EXIT_ERROR if failures else EXIT_OK

        return asyncio.run(run())


def _import_summary(result) -> str:
    n = len(result.imported)
    parts = [f"{result.requested}: imported {n} response{'s' if n != 1 else ''}"]
    if result.reused:
        parts.append(f"joined the known ancestor {result.reused}")
    if result.missing_ancestor:
        parts.append(f"ancestor {result.missing_ancestor} is gone from the server")
    if result.inputs_unavailable:
        parts.append("input not recorded (the server cannot return input items)")
    return "; ".join(parts)


def _progress_printer(label: str) -> Callable[[int, str], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, current: str) -> None:
        print(f"\r{label}: {done} fetched ({current})\x1b[K", end="", file=sys.stderr, flush=True)

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
    from tui.ops.export import export_json, export_markdown
    from tui.store.atomic import write_private_file

    with open_index() as index:
        profile = choose_profile(args, index)
        server = find_server(index, profile, args.id)
        render = export_json if args.format == "json" else export_markdown
        text = render(index, server, args.id)
    if args.output:
        write_private_file(args.output, text.encode("utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ---------------------------------------------------------------- delete


def cmd_delete(args: argparse.Namespace) -> int:
    from tui.ops.connect import make_client, server_id
    from tui.ops.deleter import delete_responses, subtree_ids

    with open_index() as index:
        profile = choose_profile(args, index)
        here = server_id(profile)
        server = find_server(index, profile, args.id) if args.local_only else here
        if not args.local_only and index.get(here, args.id) is None:
            elsewhere = sorted({n.server for n in index.find(args.id)})
            if elsewhere:
                raise CliError(
                    f"{args.id} belongs to {', '.join(elsewhere)}, not {here}: "
                    "choose its server with --profile or --base-url"
                )
            if args.subtree:
                raise CliError(
                    f"unknown response id {args.id!r}: --subtree needs it in the index "
                    f"(import it first: responses-tui import {args.id})"
                )
        ids = subtree_ids(index, server, args.id) if args.subtree else [args.id]
        where = "in the local index only" if args.local_only else f"on {describe(profile, server)}"
        question = (
            f"Delete {len(ids)} response{'s' if len(ids) != 1 else ''} {where}"
            + ("" if args.local_only else " permanently, and forget them locally")
            + "?"
        )
        if not args.yes:
            _confirm(question)

        async def run():
            if args.local_only:
                return await delete_responses(None, index, server=server, ids=ids, local_only=True)
            async with make_client(profile) as client:
                return await delete_responses(client, index, server=server, ids=ids)

        report = asyncio.run(run())
    gone = len(report.deleted)
    note = f" ({len(report.already_gone)} were already gone)" if report.already_gone else ""
    verb = "forgot" if args.local_only else "deleted"
    print(f"{verb} {gone} of {len(ids)}{note}")
    if report.tombstoned:
        print(
            f"kept {len(report.tombstoned)} in the index marked deleted: later turns still "
            "hang from them"
        )
    for rid, reason in report.failed.items():
        print(
            f"responses-tui: error: {rid} not deleted: {reason} (kept in the index)",
            file=sys.stderr,
        )
    return EXIT_ERROR if report.failed else EXIT_OK


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise CliError(f"{question} Refusing without confirmation: pass --yes", EXIT_USAGE)
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("nothing deleted")


# ---------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    from tui.local.http import serve
    from tui.ops.connect import offline_backend

    backend = offline_backend(args.data, delta_delay=args.delta_delay)
    stop = threading.Event()

    def ready(port: int) -> None:
        print(
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
    with open_index() as index:
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
        print(f"{mark} {name:<12} {profile.base_url}  {key}  model {model}  [{origin}]")
    return EXIT_OK


def cmd_profiles_add(args: argparse.Namespace) -> int:
    from tui.api.profiles import profile_to_dict

    if args.name in BUILTIN_PROFILES:
        raise CliError(f"{args.name!r} is a built-in profile; choose another name", EXIT_USAGE)
    profile = Profile(
        name=args.name,
        base_url=validate_base_url(args.profile_base_url),
        api_key_env=args.profile_key_env,
        headers=dict(parse_header(h) for h in args.profile_headers),
        default_model=args.profile_model,
    )
    with open_index() as index:
        index.save_profile(profile_to_dict(profile))
    print(f"saved profile {args.name!r}")
    return EXIT_OK


def cmd_profiles_remove(args: argparse.Namespace) -> int:
    with open_index() as index:
        if not index.remove_profile(args.name):
            raise CliError(f"no saved profile named {args.name!r}")
    print(f"removed profile {args.name!r}")
    return EXIT_OK
