app_name = "therapy"

urlpatterns: list = []
