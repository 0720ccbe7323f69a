"""`ssclnet publish`: put an exported model into the registry viewers read, roll `latest` back, withdraw a
version, or set the notice viewers show. Several actions in one call run in this order: publish or roll back,
withdraw, notice."""


def add_parser(sub):
    p = sub.add_parser("publish", help="publish an exported model to a registry folder, or roll back `latest`")
    p.add_argument("--registry", required=True, help="registry folder served to viewers (created if missing)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", help="exported model folder (from `ssclnet export`) to publish as a new version")
    g.add_argument("--rollback", metavar="VERSION", help="point `latest` back at an already published version")
    p.add_argument("--no-latest", action="store_true", help="publish without making it the latest version")
    p.add_argument(
        "--withdraw",
        metavar="VERSION",
        help="mark a published version withdrawn (viewers never load it; needs --reason; not the latest)",
    )
    p.add_argument("--reason", metavar="TEXT", help="why the version is withdrawn (shown to viewers)")
    p.add_argument(
        "--notice",
        metavar="TEXT",
        help="the administrator's message viewers show, e.g. why latest changed ('' removes it)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ssclnet.registry import RegistryError, publish, rollback, set_notice, withdraw

    if not (args.model or args.rollback or args.withdraw or args.notice is not None):
        print("ssclnet publish: give --model, --rollback, --withdraw or --notice", file=sys.stderr)
        return 2
    if args.reason is not None and not args.withdraw:
        print("ssclnet publish: --reason goes with --withdraw VERSION", file=sys.stderr)
        return 2
    try:
        if args.rollback:
            index = rollback(args.registry, args.rollback)
            print(f"{args.registry}: latest is now {index['latest']}")
        elif args.model:
            index = publish(args.registry, args.model, make_latest=not args.no_latest)
            entry = index["versions"][-1]
            print(f"published {entry['version']} to {args.registry}/{entry['path']}; latest is {index['latest']}")
        if args.withdraw:
            withdraw(args.registry, args.withdraw, args.reason or "")
            print(f"{args.registry}: {args.withdraw} is withdrawn ({args.reason})")
        if args.notice is not None:
            index = set_notice(args.registry, args.notice)
            print(f"{args.registry}: notice {'set' if index.get('notice') else 'removed'}")
    except RegistryError as e:
        print(f"ssclnet publish: {e}", file=sys.stderr)
        return 2
    return 0
