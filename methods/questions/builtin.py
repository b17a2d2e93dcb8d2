"""The built-in security questions, in English; shown translated (see SecurityQuestion)."""

from django.utils.translation import gettext_noop

QUESTIONS = [
    gettext_noop("What was the name of the street you lived on when you were eight?"),
    gettext_noop("What was the first name of your first manager?"),
    gettext_noop("In which town did your parents meet?"),
    gettext_noop("What was the name of your first stuffed toy?"),
    gettext_noop("What was the surname of your favourite primary school teacher?"),
    gettext_noop("What was the make and model of the first car you owned?"),
    gettext_noop("What was the name of the first pet you looked after?"),
    gettext_noop("Which musical instrument did you first learn to play?"),
    gettext_noop("What was the first concert you went to?"),
    gettext_noop("In which city did you spend your first night away from home?"),
    gettext_noop("What was the name of the hospital where you were born?"),
    gettext_noop("What was the first name of your oldest cousin?"),
    gettext_noop("What was the name of your favourite childhood book?"),
    gettext_noop("Which sports team did you support as a child?"),
    gettext_noop("What was the name of the first company you worked for?"),
    gettext_noop("What was your childhood nickname?"),
    gettext_noop("What was the first film you saw at a cinema?"),
    gettext_noop("What was the name of the village or town of your first holiday?"),
    gettext_noop("What was the middle name of your oldest sibling?"),
    gettext_noop("What did you want to become when you were ten?"),
    gettext_noop("What was the name of your secondary school's mascot or house?"),
    gettext_noop("What was the first dish you learned to cook?"),
]
