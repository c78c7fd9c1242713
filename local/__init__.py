"""The local stack: the synthesized CloudFormation template, deployed onto moto and run in-process.

Nothing here is a second copy of a flow: every route, table, stream consumer and state machine
comes from the template that `cdk synth` produces (see docs/decisions/0002-local-stack.md).
"""
