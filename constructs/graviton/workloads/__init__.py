"""What runs the services on Graviton: arm64 functions and their HTTP APIs, Fargate ARM64 services, the network,
alarms."""
