"""Tests of the local AWS stack itself (moto patches, Step Functions, DynamoDB)."""
