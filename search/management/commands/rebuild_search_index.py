from django.core.management.base import BaseCommand

from search.indexing import rebuild


class Command(BaseCommand):
    help = "Index every written block for search again (after bulk writes or a restore)."

    def handle(self, *args, **options):
        self.stdout.write(f"Indexed {rebuild()} blocks.")
