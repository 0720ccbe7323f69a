"""`ssclnet pretrain` (placeholder until its issue lands)."""


def add_parser(sub):
    p = sub.add_parser("pretrain", help="(not yet implemented)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ssclnet pretrain: not implemented yet")))
