"""`ssclnet benchmark` (placeholder until its issue lands)."""


def add_parser(sub):
    p = sub.add_parser("benchmark", help="(not yet implemented)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ssclnet benchmark: not implemented yet")))
