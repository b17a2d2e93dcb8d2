# The policy moved here from the registration app; its table stays where it was.

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import policy.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("registration", "0007_reminders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Policy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('office_phone_enabled', models.BooleanField(default=False, help_text='Count the office phone an administrator set as a method.', verbose_name='office phone')),
                        ('phone_sms_enabled', models.BooleanField(default=True, help_text='Users may receive codes by text message.', verbose_name='authentication phone by text message')),
                        ('phone_voice_enabled', models.BooleanField(default=True, help_text='Users may receive codes by a call that reads the code out.', verbose_name='authentication phone by voice call')),
                        ('email_enabled', models.BooleanField(default=True, help_text='Users may register an email address.', verbose_name='authentication email')),
                        ('questions_enabled', models.BooleanField(default=True, help_text='Users may answer security questions.', verbose_name='security questions')),
                        ('methods_required', models.PositiveSmallIntegerField(default=2, help_text='How many verified methods a user needs before Finish (1 or 2).', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(2)], verbose_name='methods required to register')),
                        ('questions_required', models.PositiveSmallIntegerField(default=3, help_text='How many questions a user answers (3 to 5).', validators=[django.core.validators.MinValueValidator(3), django.core.validators.MaxValueValidator(5)], verbose_name='questions to register')),
                        ('allowed_regions', models.CharField(blank=True, help_text='Two-letter country codes, separated by commas (GB, DE, US). Empty allows every country.', max_length=500, validators=[policy.models.validate_regions], verbose_name='allowed phone regions')),
                        ('helpdesk_contact', models.CharField(blank=True, help_text='An email address or a web address shown on every page for people who need help.', max_length=200, validators=[policy.models.validate_helpdesk_contact], verbose_name='helpdesk contact')),
                        ('updated_at', models.DateTimeField(auto_now=True, help_text='Last change.')),
                        ('notify_admins_on_admin_reset', models.BooleanField(default=True, help_text='Tell every other administrator when a staff account resets its password.', verbose_name='notify all administrators when an administrator resets')),
                        ('notify_users_on_reset', models.BooleanField(default=True, help_text="Send a notice to the user's addresses after each reset or unlock.", verbose_name='notify users when their password is reset')),
                        ('reconfirm_days', models.PositiveSmallIntegerField(default=180, help_text='Ask users to confirm their methods again after this many days (0 = never).', validators=[django.core.validators.MaxValueValidator(730)], verbose_name='reconfirm after (days)')),
                        ('require_registration_at_sign_in', models.BooleanField(default=True, help_text='After signing in, users who have not registered, or must confirm again, are sent to the registration page first.', verbose_name='require registration at sign-in')),
                        ('reset_methods_required', models.PositiveSmallIntegerField(default=1, help_text='How many methods a user must pass to reset or unlock (1 or 2).', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(2)], verbose_name='methods required to reset')),
                        ('reset_questions_required', models.PositiveSmallIntegerField(default=3, help_text='How many questions are asked when someone resets their password (3 to 5, not more than to register).', validators=[django.core.validators.MinValueValidator(3), django.core.validators.MaxValueValidator(5)], verbose_name='questions to reset')),
                        ('scope', models.CharField(choices=[('nobody', 'Nobody'), ('group', 'Members of one group'), ('everyone', 'Everyone')], default='everyone', help_text='Who may register and reset their password here.', max_length=10, verbose_name='enabled for')),
                        ('scope_group', models.ForeignKey(blank=True, help_text='With “Members of one group”: the group.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='auth.group', verbose_name='group')),
                        ('skips_allowed', models.PositiveSmallIntegerField(default=3, help_text='How many times a user may postpone registering at sign-in (0 to 5).', validators=[django.core.validators.MaxValueValidator(5)], verbose_name='skips allowed')),
                        ('questions_alone_allowed', models.BooleanField(default=False, help_text='Risky: answers to security questions can often be found out or guessed, so by default they count only beside another method. Turned on, a person whose policy asks for one method may reset with their questions alone. Administrator accounts never can.', verbose_name='let security questions alone be enough')),
                        ('reminder_interval_days', models.PositiveSmallIntegerField(default=14, help_text='Nobody gets a reminder more often than this (1 to 365 days).', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)], verbose_name='days between reminders')),
                        ('reminders_enabled', models.BooleanField(default=True, help_text='Administrators (and a scheduled job) may email people who have not registered, or must confirm again, a reminder with a link to register. Off: no reminder is sent.', verbose_name='send registration reminders')),
                    ],
                    options={
                        'verbose_name': 'policy',
                        'verbose_name_plural': 'policy',
                        'indexes': [],
                        'constraints': [],
                        'db_table': 'registration_policy',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
