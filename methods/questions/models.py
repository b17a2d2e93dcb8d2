"""The security questions' records: the approved questions and each person's hashed answers.
They belong to the `methods` app (methods/models.py imports them), under the names and tables
they always had."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class SecurityQuestion(models.Model):
    """A question administrators approved for users to answer."""

    text = models.CharField(max_length=200, unique=True, help_text=_("The question as shown."))
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Offered to users who set up their questions now.")
    )
    builtin = models.BooleanField(
        default=False, editable=False, help_text=_("Shipped with the product.")
    )

    class Meta:
        ordering = ["text"]
        verbose_name = _("approved security question")
        verbose_name_plural = _("approved security questions")

    def __str__(self) -> str:
        # Built-in questions are shown in the reader's language; administrators' own as written.
        return gettext(self.text) if self.builtin else self.text


class SecurityAnswer(models.Model):
    """One answer, kept only as an Argon2 hash of its normalised form."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="security_answers",
        help_text=_("Whose answer."),
    )
    question = models.ForeignKey(
        SecurityQuestion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The approved question answered."),
    )
    answer_hash = models.CharField(max_length=256, help_text=_("Argon2 hash; never shown."))
    created_at = models.DateTimeField(auto_now_add=True, help_text=_("When it was set."))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="one_answer_per_question")
        ]
        verbose_name = _("security answer")
        verbose_name_plural = _("security answers")

    def __str__(self) -> str:
        return str(_("Answer of %(user)s") % {"user": self.user_id})
