import sys

from zos_storaged.main import main

sys.exit(main())
