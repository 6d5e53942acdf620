"""``doctor``: checks a deployment the way an experienced operator would, and says what to fix.

Each module looks at one thing (files and permissions, keys, partners over the network, routing) and
returns ``Finding`` records; nothing here changes anything. ``examine`` runs them all.
"""
