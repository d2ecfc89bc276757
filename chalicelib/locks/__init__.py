"""Workspace locks: leases on (repository, directory, workspace) with fencing tokens.

``lease`` is the pure logic (an injected clock, values in, values out); ``gate`` is what the
dispatcher asks before it plans or applies; the DynamoDB adapter is ``store/locks.py``.
"""
