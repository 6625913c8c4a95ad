"""The read side: the customer ledger, the SLA dashboards and the social-services notification
queue, each a projection of the contexts' public events."""
