"""The domain: identifiers, ledger, slot index, stock policy, alarms and presence on the shelf."""
