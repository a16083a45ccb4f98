"""Keep this process's locate index in step with the hierarchy it was built from."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gridcity.locate import grid_index
from gridcity.models import Community, District, Street, WorkGrid


@receiver([post_save, post_delete], sender=WorkGrid)
@receiver([post_save, post_delete], sender=Community)
@receiver([post_save, post_delete], sender=Street)
@receiver([post_save, post_delete], sender=District)
def invalidate_locate_index(**kwargs) -> None:
    grid_index.invalidate()
