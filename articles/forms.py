from django import forms
from django.core.validators import URLValidator

validate_web_address = URLValidator(
    schemes=["http", "https"],
    message="Enter a web address that starts with http:// or https://.",
)


class WebAddressFormField(forms.URLField):
    default_validators = [validate_web_address]
    default_error_messages = {"invalid": validate_web_address.message}

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)
