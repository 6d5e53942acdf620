"""The data flow, one module a stage.

verify → decode → validate → route → encode → sign → outbox → deliver → receipt
"""
