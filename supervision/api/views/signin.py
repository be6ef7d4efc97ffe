"""Sign-in and sign-out over the API: POST username and password for a token that expires
(accounts/tokens.py); revoke it, or every token of the user. Repeated failures lock the username and
the address out (accounts/signin.py)."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in, user_logged_out
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.signin import SignInLockedOut, SignInRateThrottle, client_address, is_locked_out, lockout_seconds_left
from accounts.tokens import ExpiringTokenAuthentication, token_issue, tokens_revoke


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150)
    password = serializers.CharField(label=_("密码"), max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("登录令牌，请求时放在 `Authorization: Token <token>` 中；只返回这一次。"))
    expiry = serializers.DateTimeField(
        help_text=_("令牌的过期时间；每次使用后顺延（见 DUBAN_TOKEN_TTL_HOURS），但不超过登录后 DUBAN_TOKEN_MAX_TTL_HOURS。")
    )


LOCKED_OUT = OpenApiResponse(description=_("登录过于频繁，或失败次数过多、账号或地址已被暂时锁定（Retry-After 为需等待的秒数）"))


class TokenView(APIView):
    """POST username and password, get a token for `Authorization: Token <token>` and when it expires."""

    # Signing in needs no credentials: without these the schema claimed it did, and a stale
    # token or session cookie sent along would be refused before the password was even read.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SignInRateThrottle]
    throttle_scope = "login"
    serializer_class = SignInSerializer

    @extend_schema(
        request=SignInSerializer,
        responses={200: TokenSerializer, 429: LOCKED_OUT},
        parameters=[
            OpenApiParameter(
                "Retry-After", int, OpenApiParameter.HEADER, response=[429], description=_("需等待的秒数，之后可再试")
            )
        ],
    )
    def post(self, request):
        form = SignInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        username, password = form.validated_data["username"], form.validated_data["password"]
        # Django's own request: django-axes counts the failure and marks a lockout on it.
        user = authenticate(request=request._request, username=username, password=password)
        if is_locked_out(request._request):
            raise SignInLockedOut(lockout_seconds_left(username=username, address=client_address(request._request)))
        if user is None:
            raise exceptions.ValidationError({"non_field_errors": [_("用户名或密码不正确。")]})
        instance, token = token_issue(user=user)
        # last_login (the dashboards' warming picks recent viewers) and the sign-in log.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)


class LogoutView(APIView):
    """Revoke the token this request is signed with; it stops working at once."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description=_("令牌已注销"))})
    def post(self, request):
        tokens_revoke(user=request.user, token=request.auth)
        user_logged_out.send(sender=type(request.user), request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every token of the signed-in user (every device and script signed in as them)."""

    # Also from a browser session (CSRF-checked), e.g. to cut off a lost phone's token.
    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description=_("该用户的全部令牌已注销"))})
    def post(self, request):
        tokens_revoke(user=request.user)
        user_logged_out.send(sender=type(request.user), request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
