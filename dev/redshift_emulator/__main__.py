"""``python -m dev.redshift_emulator --postgres URL -- nps-loader ARGS`` (or ``dbt ARGS``)."""

from __future__ import annotations

import argparse
import os
import sys

from dev.redshift_emulator.session import emulate, target_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dev.redshift_emulator",
        description="Run nps-loader or dbt against the profile's redshift target, emulated on a PostgreSQL.",
    )
    parser.add_argument(
        "--postgres", required=True, help="postgresql://USER[:PASSWORD]@HOST:PORT/DB"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- nps-loader ... | dbt ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or command[0] not in ("nps-loader", "dbt"):
        parser.error("give the command after --: nps-loader ... or dbt ...")
    for key, value in target_env(args.postgres).items():
        if key == "NPS_REDSHIFT_IAM_ROLE":
            os.environ.setdefault(key, value)
        else:
            os.environ[key] = value
    sys.argv = command
    with emulate(args.postgres):
        try:
            if command[0] == "dbt":
                from dbt.cli.main import cli

                cli()
            else:
                from loader.cli import main as loader_main

                loader_main()
        except SystemExit as exit:
            code = exit.code
            return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
