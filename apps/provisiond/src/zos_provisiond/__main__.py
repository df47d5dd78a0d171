from zos_provisiond.main import main

raise SystemExit(main())
