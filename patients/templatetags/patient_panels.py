from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from patients.panels import render_context

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_panels(context, patient, place="record"):
    """Render the sections other apps registered for this place on a patient page."""
    request = context.get("request")
    html = SafeString("")  # rendered templates are safe; adding them keeps them safe
    for panel, ctx in render_context(request, patient, place):
        extra = {"patient": patient, "perms": context.get("perms")}
        html += render_to_string(panel.template, {**ctx, **extra}, request=request)
    return html
