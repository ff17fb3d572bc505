from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class CompanionUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Companion", {"fields": ("display_name", "is_guest")}),)
    list_display = ("username", "display_name", "is_guest", "is_staff", "date_joined")
    list_filter = UserAdmin.list_filter + ("is_guest",)
    search_fields = ("username", "display_name", "email")
