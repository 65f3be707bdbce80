"""The api service: a small HTTP API that reports the machine it runs on."""
