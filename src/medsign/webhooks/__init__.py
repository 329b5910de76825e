"""Webhooks: subscriptions, signed deliveries from the outbox, delivery log and replay.

Deliveries follow the Standard Webhooks specification
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
"""
