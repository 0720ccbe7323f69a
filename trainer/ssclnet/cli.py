"""`ssclnet` command line: one subcommand per module in `ssclnet.commands`, each with `add_parser`."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "pretrain",
    "finetune",
    "soup",
    "evaluate",
    "benchmark",
    "export",
    "publish",
    "fit-gate",
    "trust-report",
    "explain",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssclnet",
        description="SSCLNet: self-supervised pretraining and fine-tuning of a brain MRI slice classifier.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ssclnet.commands.{name.replace('-', '_')}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None) is not None:
        # Second pass: the YAML file's values become the subcommand's defaults, so explicit flags still win.
        from .config import load_config

        sub = args._parser
        sub.set_defaults(**load_config(args.config, sub))
        args = parser.parse_args(argv)
    from .errors import InputError

    try:
        return int(args.func(args) or 0)
    except InputError as e:  # bad input files or refused flags: one line, exit 2, no traceback
        print(
            f"ssclnet {args.command}: {e.message}"
            if not e.message.startswith(f"{args.command}:")
            else f"ssclnet {e.message}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
