from heard_local.cli import main

raise SystemExit(main())
