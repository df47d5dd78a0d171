import sys

from zos_api_gateway.daemon import main

sys.exit(main())
