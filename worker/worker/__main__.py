"""`python -m worker`: the same entry point as `traffic-tool worker`, with settings from the environment."""

from worker.main import main

raise SystemExit(main())
