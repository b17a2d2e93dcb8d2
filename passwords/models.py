"""Words the organisation does not allow in passwords."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from sspr_site.request_memo import forget

from .matching import fold


def validate_word(value: str) -> None:
    if len(fold(value)[0]) < 3:
        raise ValidationError(
            _("Use at least three letters: shorter words would refuse too many passwords."),
            code="too_short",
        )


class BannedWord(models.Model):
    """A word (company, product or place name) no password may contain, however disguised."""

    word = models.CharField(
        _("word"),
        max_length=64,
        unique=True,
        validators=[validate_word],
        help_text=_(
            "Matched without regard to case, common letter-for-digit or symbol swaps (a→4 or @, "
            "e→3, i→1 or !, o→0, s→5 or $) and anywhere inside a longer password."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text=_("When it was added."))

    class Meta:
        ordering = ["word"]
        verbose_name = _("banned password word")
        verbose_name_plural = _("banned password words")

    def __str__(self) -> str:
        return self.word


@receiver([post_save, post_delete], sender=BannedWord, dispatch_uid="sspr_banned_words_changed")
def _banned_words_changed(sender, **kwargs):
    """The rest of the request judges passwords by the words as they are now."""
    from .validators import BANNED_WORDS

    forget(BANNED_WORDS)
