"""`ssclnet publish`: put an exported model into the registry viewers read, or roll `latest` back."""


def add_parser(sub):
    p = sub.add_parser("publish", help="publish an exported model to a registry folder, or roll back `latest`")
    p.add_argument("--registry", required=True, help="registry folder served to viewers (created if missing)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="exported model folder (from `ssclnet export`) to publish as a new version")
    g.add_argument("--rollback", metavar="VERSION", help="point `latest` back at an already published version")
    p.add_argument("--no-latest", action="store_true", help="publish without making it the latest version")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ssclnet.registry import RegistryError, publish, rollback

    try:
        if args.rollback:
            index = rollback(args.registry, args.rollback)
            print(f"{args.registry}: latest is now {index['latest']}")
        else:
            index = publish(args.registry, args.model, make_latest=not args.no_latest)
            entry = index["versions"][-1]
            print(f"published {entry['version']} to {args.registry}/{entry['path']}; latest is {index['latest']}")
    except RegistryError as e:
        print(f"ssclnet publish: {e}", file=sys.stderr)
        return 2
    return 0
