"""The code family: a method proved by a code sent to a destination (a phone or an address).
The family shares its Method class (method.py), its records (models.py), its actions
(flows.py), its forms (forms.py), its setup pages (setup_views.py), its reset pages
(reset_views.py) and the helpdesk's caller check; a member (phone.py, email.py, office.py)
declares only what differs."""
