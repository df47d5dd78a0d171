import sys

from zos_flistd.main import main

sys.exit(main())
