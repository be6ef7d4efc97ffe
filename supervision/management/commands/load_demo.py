from django.core.management.base import BaseCommand

from supervision.demo import DEMO_PASSWORD, MARKER_USERNAME, load_demo


class Command(BaseCommand):
    help = "载入演示数据（云溪县：单位、用户、批示件、各状态督办事项）。已载入则跳过，可重复执行。"

    def handle(self, *args, **options):
        if not load_demo(out=self.stdout):
            self.stdout.write(f"演示数据已载入（用户 {MARKER_USERNAME} 已存在），跳过。")
            return
        self.stdout.write(self.style.SUCCESS(f"演示数据载入完成。所有演示账号的密码：{DEMO_PASSWORD}"))
