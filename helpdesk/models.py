"""The helpdesk keeps no data of its own; this model only carries its permission."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HelpdeskAccess(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("use_helpdesk", _("Can read registration status at /helpdesk/"))]
        verbose_name = _("helpdesk access")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
