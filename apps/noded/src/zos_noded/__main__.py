import sys

from zos_noded.daemon import main

sys.exit(main())
