from ..commands.sweep import main

raise SystemExit(main())
