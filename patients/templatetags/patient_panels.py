from django import template
from django.utils.safestring import SafeString

from patients.panels import render_context

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_panels(context, patient, place="record"):
    """Render the sections other apps registered for this place on a patient page.

    Each panel's template renders in the page's context with the panel's own values pushed
    on top (as ``{% include %}`` does), so the context processors the page already ran are
    not run again once per panel."""
    request = context.get("request")
    engine = context.template.engine
    html = SafeString("")  # rendered templates are safe; adding them keeps them safe
    for panel, ctx in render_context(request, patient, place):
        extra = {"patient": patient, "perms": context.get("perms")}
        with context.push({**ctx, **extra}):
            html += engine.get_template(panel.template).render(context)
    return html
