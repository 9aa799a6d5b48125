"""Planning and records: organisation directory, meetings, invitations, attendance, exports.

Stores are interfaces; their Redis implementations document their key layout as constants.
"""
