"""Run the GLM test server standalone: ``python -m langchain_glm.testing [--auto] [--port N]``."""

import sys

from langchain_glm.testing._server import main

if __name__ == "__main__":
    sys.exit(main())
