"""The web service: an always-on HTTP server (ECS Fargate ARM64, EKS) that reports the machine it runs on."""
