from django.urls import URLPattern, URLResolver

app_name: str
urlpatterns: list[URLPattern | URLResolver]
