"""`python -m graviton_commands.cost`: what Graviton saves, per environment and per resource; see `command.py`.

No module here imports aws_cdk (nor boto3): the command reads the synthesized templates, not the app.
"""
