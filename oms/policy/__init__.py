"""Policies (issue 15, item 1): a tenant's rules for money leaving, optionally narrowed to a customer or a wallet,
managed through the admin API and the CLI, versioned (a change is a new version, never an edit), and evaluated by
``service.PolicyEngine``, one of the controls (``oms.controls``) asked at quote time and again at execution."""
