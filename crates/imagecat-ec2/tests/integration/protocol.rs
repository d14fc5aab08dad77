//! Query-protocol forms: EC2's and Auto Scaling's list flattening.

use imagecat_ec2::protocol::{AUTOSCALING_VERSION, DescribeImages, Filter, Form, ListStyle};

#[test]
fn both_list_styles() {
    let cases: &[(ListStyle, &[&str], &str)] = &[
        (
            ListStyle::Ec2,
            &["a", "b"],
            "Action=X&Version=1&Name.1=a&Name.2=b",
        ),
        (
            ListStyle::Query,
            &["a", "b"],
            "Action=X&Version=1&Name.member.1=a&Name.member.2=b",
        ),
        // botocore: an empty list sends nothing on EC2, `Name=` on query.
        (ListStyle::Ec2, &[], "Action=X&Version=1"),
        (ListStyle::Query, &[], "Action=X&Version=1&Name="),
    ];
    for (style, values, want) in cases {
        let mut form = Form::new("X", "1");
        form.list(*style, "Name", values);
        assert_eq!(form.encode(), *want, "{style:?} {values:?}");
    }
}

#[test]
fn nested_filters_in_both_styles() {
    let filters = [
        Filter::new("tag:env", ["prod"]),
        Filter::new("state", ["available", "pending"]),
    ];
    let mut ec2 = Form::new("DescribeImages", "2016-11-15");
    ec2.filters(ListStyle::Ec2, "Filter", "Value", &filters);
    assert_eq!(
        ec2.encode(),
        "Action=DescribeImages&Version=2016-11-15&Filter.1.Name=tag%3Aenv&Filter.1.Value.1=prod\
         &Filter.2.Name=state&Filter.2.Value.1=available&Filter.2.Value.2=pending"
    );
    // Reference §1b: Auto Scaling, tested with botocore's QuerySerializer.
    let mut asg = Form::new("DescribeAutoScalingGroups", AUTOSCALING_VERSION);
    asg.filters(ListStyle::Query, "Filters", "Values", &filters[..1]);
    assert_eq!(
        asg.encode(),
        "Action=DescribeAutoScalingGroups&Version=2011-01-01\
         &Filters.member.1.Name=tag%3Aenv&Filters.member.1.Values.member.1=prod"
    );
    let mut asg = Form::new("DescribeLaunchConfigurations", AUTOSCALING_VERSION);
    asg.list(ListStyle::Query, "LaunchConfigurationNames", &["a"]);
    assert!(
        asg.encode()
            .ends_with("&LaunchConfigurationNames.member.1=a")
    );
    // A filter with no values: nothing more on EC2, `…Values=` on query.
    let empty = [Filter::new("x", Vec::<String>::new())];
    let mut form = Form::new("A", "1");
    form.filters(ListStyle::Ec2, "Filter", "Value", &empty);
    assert_eq!(form.encode(), "Action=A&Version=1&Filter.1.Name=x");
    let mut form = Form::new("A", "1");
    form.filters(ListStyle::Query, "Filters", "Values", &empty);
    assert_eq!(
        form.encode(),
        "Action=A&Version=1&Filters.member.1.Name=x&Filters.member.1.Values="
    );
}

#[test]
fn values_are_encoded_as_botocore_encodes_them() {
    let mut form = Form::new("A", "1");
    form.param("V", "a b+c&d=e/f*g~h_i.j-k%l:é\u{1F600}");
    assert_eq!(
        form.encode(),
        "Action=A&Version=1&V=a+b%2Bc%26d%3De%2Ff%2Ag~h_i.j-k%25l%3A%C3%A9%F0%9F%98%80"
    );
}

#[test]
fn describe_images_sends_every_member_by_its_wire_name() {
    let request = DescribeImages {
        owners: vec!["self".into(), "123456789012".into()],
        image_ids: vec!["ami-1".into()],
        executable_users: vec!["all".into()],
        filters: vec![Filter::new("is-public", ["true"])],
        include_deprecated: Some(false),
        include_disabled: Some(true),
        max_results: None,
        next_token: None,
    };
    let form = request.form();
    let keys: Vec<&str> = form.params().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "Action",
            "Version",
            "ExecutableBy.1",
            "ImageId.1",
            "Owner.1",
            "Owner.2",
            "Filter.1.Name",
            "Filter.1.Value.1",
            "IncludeDeprecated",
            "IncludeDisabled",
        ]
    );
    assert!(
        form.encode()
            .contains("IncludeDeprecated=false&IncludeDisabled=true")
    );
    // Nothing set: only the action (the catalog always adds an owner).
    assert_eq!(
        DescribeImages::default().form().encode(),
        "Action=DescribeImages&Version=2016-11-15"
    );
}
