"""Billing sources as a tenant manages them: add, change and remove, with the access policy and the add-time connection check."""
