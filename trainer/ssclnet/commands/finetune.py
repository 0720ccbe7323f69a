"""`ssclnet finetune` (placeholder until its issue lands)."""


def add_parser(sub):
    p = sub.add_parser("finetune", help="(not yet implemented)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ssclnet finetune: not implemented yet")))
