"""A small SAM template with every form the local stack reads: a default authorizer, a static route
listed after the parameter route it must beat, a greedy ANY route, an open route, and schedules.
Its handlers are `app.handler` (functions/items/) and `auth.handler` (functions/auth/)."""

from __future__ import annotations

SYNTHETIC = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Handler: app.handler
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Bearer
        Authorizers:
          Bearer:
            FunctionArn: !GetAtt AuthFn.Arn
  AuthFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/auth/
      Handler: auth.handler
  ItemsFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/items/
      Events:
        List:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items, Method: get}
        One:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /items/{item_id}
            Method: get
        Latest:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items/latest, Method: get}
        Files:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /files/{proxy+}
            Method: any
        Ping:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /ping
            Method: get
            Auth: {Authorizer: NONE}
        Tick:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 minute)
            Input: '{"source": "schedule"}'
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 3 * * ? *)
            State: DISABLED
"""
