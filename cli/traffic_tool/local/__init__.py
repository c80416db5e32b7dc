"""The local stack: the pieces that play AWS's part on one machine (API Gateway, schedules)."""
