import sys

from zos_identityd.daemon import main

sys.exit(main())
